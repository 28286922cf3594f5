Attribute VB_Name = "SelfTest"
Option Explicit

' xlexec self-test: proves a VBA project built from text loads, compiles and runs.
' Writes the marker from XlexecUtil.SelfTestMarker (another module) into Log!A1,
' the host application's name into Log!A2, then saves and closes the workbook.
' (Workbook.Close SaveChanges:=True stores directly; Workbook.Save goes through
' the UI dispatcher in LibreOffice, which headless LibreOffice 7.4 cannot do.)
Public Sub XlexecSelfTest()
    Dim ws As Worksheet
    Set ws = ThisWorkbook.Worksheets("Log")
    ws.Range("A1").Value = SelfTestMarker()
    ws.Range("A2").Value = Application.Name
    ThisWorkbook.Close SaveChanges:=True
End Sub

Private Sub NotAMacro()
End Sub
