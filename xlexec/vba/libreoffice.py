"""Running a macro in LibreOffice (headless), for smoke tests and CI: :func:`find_soffice`,
:func:`run_macro_libreoffice`.
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from xlexec.vba.modules import _check_name

# ---------------------------------------------------------------------------
# Running a macro in LibreOffice (headless), for smoke tests and CI
# ---------------------------------------------------------------------------

_LO_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" \
oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Load" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Executable" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Save" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" \
oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

_LO_XLC = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">
<library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">
 <library:library library:name="Standard" library:link="false"/>
</library:libraries>
"""

_LO_XLB = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">
<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" \
library:readonly="false" library:passwordprotected="false">{elements}</library:library>
"""

_LO_RUNNER = """Sub Main
    Dim sStatus As String
    Dim oDoc As Object
    Dim oScript As Object
    On Error GoTo Failed
    Dim aArgs(1) As New com.sun.star.beans.PropertyValue
    aArgs(0).Name = "MacroExecutionMode"
    aArgs(0).Value = 4 ' com.sun.star.document.MacroExecMode.ALWAYS_EXECUTE_NO_WARN
    aArgs(1).Name = "Hidden"
    aArgs(1).Value = True
    sStatus = "ERROR could not load the document"
    oDoc = StarDesktop.loadComponentFromURL("{doc_url}", "_blank", 0, aArgs())
    sStatus = "ERROR could not resolve the macro"
    oScript = oDoc.getScriptProvider().getScript("{script_url}")
    sStatus = "ERROR macro raised an error"
    oScript.invoke(Array(), Array(), Array())
    sStatus = "OK"
    GoTo Finish
Failed:
    sStatus = sStatus & ": " & Err & " " & Error$
    Resume Finish
Finish:
    On Error Resume Next
    If Not IsNull(oDoc) Then oDoc.close(True)
    Dim iFile As Integer
    iFile = FreeFile
    Open "{status_path}" For Output As #iFile
    Print #iFile, sStatus
    Close #iFile
End Sub
"""


def find_soffice() -> str | None:
    """Path of the LibreOffice ``soffice`` executable, or ``None``."""
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    for path in (
        "/usr/bin/soffice",
        "/usr/lib/libreoffice/program/soffice",
        "/opt/libreoffice/program/soffice",
        "/Applications/LibreOffice.app/Contents/MacOS/soffice",
        r"C:\\Program Files\\LibreOffice\\program\\soffice.exe",
    ):
        if os.path.exists(path):
            return path
    return None


def _basic_str(text: str) -> str:
    return text.replace('"', '""')


def _run_soffice(cmd: list[str], timeout: float) -> tuple[int, str]:
    """Run soffice in its own process group; kill the whole group on timeout."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # own process group: soffice (oosplash) + soffice.bin
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.communicate()
        raise
    return proc.returncode, out.decode("utf-8", errors="replace")


def run_macro_libreoffice(
    doc_path: str | os.PathLike[str],
    macro: str,
    *,
    library: str = "VBAProject",
    soffice: str | None = None,
    timeout: float = 120,
) -> str:
    """Run the VBA ``macro`` ("Module.Sub") of ``doc_path`` in headless LibreOffice.

    LibreOffice converts the VBA project on load into the document Basic
    library named after the project (``PROJECTNAME``, default ``VBAProject``)
    with ``Option VBASupport 1``.  A throw-away user profile
    (``-env:UserInstallation``) gets macro security level 0 and an
    application-level Basic runner, started as::

        soffice --headless --norestore --nologo -env:UserInstallation=file:///tmp/... \\
            "vnd.sun.star.script:Standard.XlexecRunner.Main?language=Basic&location=application"

    The runner loads the document hidden with ``MacroExecutionMode`` =
    ALWAYS_EXECUTE_NO_WARN, calls
    ``vnd.sun.star.script:<library>.<Module>.<Sub>?language=Basic&location=document``
    through the document's script provider, closes it and writes a status
    line.  (Passing that document URL straight on the soffice command line
    does not work: the command-line dispatch has no document context.)

    Returns the soffice output; raises ``RuntimeError`` if the macro could
    not be run or raised, and ``subprocess.TimeoutExpired`` after ``timeout``
    seconds (the soffice process group is killed first).

    Note: ``ThisWorkbook.Save`` dispatches ``.uno:Save`` in LibreOffice, which
    crashes headless LibreOffice 7.4; a macro that must persist its changes
    should use ``ThisWorkbook.Close SaveChanges:=True`` (a direct store).
    """
    soffice = soffice or find_soffice()
    if not soffice:
        raise FileNotFoundError("LibreOffice (soffice) not found")
    module, _, sub = macro.partition(".")
    if not sub:
        raise ValueError("macro must be 'Module.Sub'")
    for part in (library, module, sub):
        _check_name(part, "macro part")
    doc = os.path.abspath(doc_path)
    with tempfile.TemporaryDirectory(prefix="xlexec-lo-") as tmp:
        profile = Path(tmp, "profile")
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_LO_REGISTRY, encoding="utf-8")
        base_cmd = [
            soffice,
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
        ]
        # 1) let LibreOffice initialise the fresh profile (on first start it
        #    copies its preset Basic libraries over user/basic); our settings
        #    in registrymodifications.xcu are kept.
        _run_soffice([*base_cmd, "--terminate_after_init"], timeout)
        # 2) install the runner as application Basic (library Standard)
        basic = profile / "user" / "basic"
        (basic / "Standard").mkdir(parents=True, exist_ok=True)
        (basic / "script.xlc").write_text(_LO_XLC, encoding="utf-8")
        (basic / "dialog.xlc").write_text(_LO_XLC, encoding="utf-8")
        (basic / "Standard" / "dialog.xlb").write_text(_LO_XLB.format(elements=""), encoding="utf-8")
        (basic / "Standard" / "script.xlb").write_text(
            _LO_XLB.format(elements='\n <library:element library:name="XlexecRunner"/>\n'), encoding="utf-8"
        )
        status_path = Path(tmp, "status.txt")
        code = _LO_RUNNER.format(
            doc_url=_basic_str(Path(doc).as_uri()),
            script_url=_basic_str(f"vnd.sun.star.script:{library}.{module}.{sub}?language=Basic&location=document"),
            status_path=_basic_str(str(status_path)),
        )
        (basic / "Standard" / "XlexecRunner.xba").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">\n'
            '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="XlexecRunner" '
            'script:language="StarBasic">' + html.escape(code, quote=True) + "</script:module>\n",
            encoding="utf-8",
        )
        # 3) run it
        returncode, out = _run_soffice(
            [*base_cmd, "vnd.sun.star.script:Standard.XlexecRunner.Main?language=Basic&location=application"],
            timeout,
        )
        output = out
        status = status_path.read_text(errors="replace").strip() if status_path.exists() else ""
        if status != "OK":
            raise RuntimeError(
                f"LibreOffice did not run {library}.{macro}: status={status or '(none)'!r}, "
                f"exit code {returncode}, output:\n{output}"
            )
        return output
