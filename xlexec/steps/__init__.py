"""One function per step of the day; each is ``f(ctx, day, **options) -> a typed result``.

``ctx`` is a :class:`xlexec.steps.context.Context` (config, clock, user, journal), ``day`` a
:class:`xlexec.store.day.Day`; the result is a dataclass holding the figures and frames, the exit
code it implies (``exit_code``) and its JSON form (``to_json()``). No step prints, reads argv or
touches ``sys.stdout``: the CLI (:mod:`xlexec.cli`), the workbook buttons (:mod:`xlexec.excel.buttons`)
and the demo (:mod:`xlexec.demo.run`) call the same functions and show the same results.

==================  ===========================================  =========================
step                function                                     CLI / button
==================  ===========================================  =========================
validate            :func:`xlexec.steps.validate.validate`       validate / Validate
approve             :func:`xlexec.steps.validate.approve`        approve / Approve, Reject
policy show         :func:`xlexec.steps.policy.show`             policy show
policy approve      :func:`xlexec.steps.policy.approve`          policy approve
convert             :func:`xlexec.steps.convert.convert`         convert / Convert
submit              :func:`xlexec.steps.execution.submit`        submit / Submit
status              :func:`xlexec.steps.execution.status`        status / Refresh Status
cancel_all          :func:`xlexec.steps.execution.cancel_all`    cancel-all / Kill Switch
kill-switch report  :func:`xlexec.steps.execution.kill_switch_report`  kill-switch-report
pnl                 :func:`xlexec.steps.execution.pnl`           pnl
import_fills        :func:`xlexec.steps.fills.import_fills`      import-fills / Import Fills
reconcile           :func:`xlexec.steps.reconcile.reconcile`     reconcile / Reconcile
accept              :func:`xlexec.steps.reconcile.accept`        accept-positions / Accept Positions
compare / sync      :func:`xlexec.steps.reconcile.compare_positions`, ``sync_positions``
tca                 :func:`xlexec.steps.tca.tca`                 tca / TCA
monthly             :func:`xlexec.steps.tca.monthly`             monthly / Monthly Report
journal verify      :func:`xlexec.steps.journal.journal_verify`  journal verify
==================  ===========================================  =========================
"""
