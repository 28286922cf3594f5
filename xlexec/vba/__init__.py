"""The MS-OVBA / MS-CFB writer for the workbook's VBA project: a library of its own (nothing
of xlexec is imported). The public API is :mod:`xlexec.vba.project`:
``build_vba_project(modules, ...) -> bytes`` (a ``vbaProject.bin``), ``make_xlsm``,
``add_to_xlsxwriter``, ``macro_names``, ``compress`` / ``decompress``."""
