Attribute VB_Name = "SelfTest"
Option Explicit

' xlexec workbook self-test: proves the VBA project built from macros/*.bas loads,
' compiles and runs (Excel on Windows/macOS, LibreOffice headless in the test suite).
' XlexecSelfTest writes the marker into Control!H2 (the "self-test" cell) and the host
' application's name into Control!H3. It needs no Python.

Public Const SELFTEST_MARKER As String = "XLEXEC_WORKBOOK_SELFTEST_OK"

Public Sub XlexecSelfTest()
    Dim ws As Worksheet
    Set ws = ThisWorkbook.Worksheets("Control")
    ws.Unprotect
    ws.Range("H2").Value = SELFTEST_MARKER
    ws.Range("H3").Value = Application.Name
    ws.Protect DrawingObjects:=False, Contents:=True, Scenarios:=True
End Sub

' For unattended runs (CI): run the self-test, then store the workbook and close it.
' (Workbook.Close SaveChanges:=True stores directly; Workbook.Save goes through the UI
' dispatcher in LibreOffice, which headless LibreOffice cannot do.)
Public Sub XlexecSelfTestAndClose()
    XlexecSelfTest
    ThisWorkbook.Close SaveChanges:=True
End Sub
