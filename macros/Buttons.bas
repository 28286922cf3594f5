Attribute VB_Name = "Buttons"
Option Explicit

' xlexec operator buttons. SOURCE OF TRUTH: macros/Buttons.bas in git.
' Each Sub is wired to a form button on the Control tab and calls one function
' of xlexec.excel.buttons through xlwings' RunPython (module xlwings, or the add-in).
' The Python side reads the workbook via xw.Book.caller(), writes whole ranges back,
' and shows any error in one message box. Edit here, then run `xlexec workbook build`
' (or `xlwings vba import` inside Excel, see workbook/README.md).

' Run one xlexec button in Python; the status bar is given back to Excel afterwards,
' whatever happened (the Python side writes progress there).
Private Sub Press(ByVal pyCall As String)
    On Error GoTo Done
    RunPython "import xlexec.excel.buttons as b; b." & pyCall
Done:
    Application.StatusBar = False
End Sub

' Load the day's trades.csv into the Blotter
Public Sub LoadTrades_Click()
    Press "load_trades()"
End Sub

' Run the pre-trade checks
Public Sub Validate_Click()
    Press "validate()"
End Sub

' Record an approval bound to the exact orders
Public Sub Approve_Click()
    Press "approve()"
End Sub

' Record a rejection
Public Sub Reject_Click()
    Press "reject()"
End Sub

' Write the broker upload file
Public Sub Convert_Click()
    Press "convert()"
End Sub

' Send the approved orders to the broker
Public Sub Submit_Click()
    ' A LIVE account (Control!B6 says LIVE) is confirmed here, before Python runs: the
    ' dialog names the broker, the account and the mode, and its default button is No (Enter = No).
    ' Control!B6 reads "LIVE TRADING ... REAL MONEY ... broker ... account N" (or "account not configured").
    Dim ws As Worksheet, mode As String, account As String, answer As VbMsgBoxResult
    Set ws = ThisWorkbook.Worksheets("Control")
    mode = CStr(ws.Range("B6").Value)
    If InStr(1, mode, "LIVE", vbTextCompare) > 0 Then
        account = "account not configured"
        If InStr(1, mode, "account ", vbTextCompare) > 0 Then
            account = Mid(mode, InStrRev(mode, "account ", -1, vbTextCompare))
        End If
        answer = MsgBox("LIVE ACCOUNT: " & CStr(ws.Range("B5").Value) & " - " & account & vbCrLf & _
            "(" & mode & ")" & vbCrLf & vbCrLf & _
            "Send the approved orders of " & CStr(ws.Range("B4").Text) & " with REAL MONEY?", _
            vbYesNo + vbCritical + vbDefaultButton2, "xlexec: confirm LIVE submission")
        If answer <> vbYes Then
            Application.StatusBar = False
            Exit Sub
        End If
        Press "submit(live=True)"
    Else
        Press "submit()"
    End If
End Sub

' Refresh order status from the broker
Public Sub RefreshStatus_Click()
    Press "refresh_status()"
End Sub

' Kill switch: cancel every open order
Public Sub CancelAll_Click()
    Press "cancel_all()"
End Sub

' Import the fills pasted on the Fills tab (or from the broker)
Public Sub ImportFills_Click()
    Press "import_fills()"
End Sub

' Reconcile fills and positions
Public Sub Reconcile_Click()
    Press "reconcile()"
End Sub

' Accept the reconciled positions
Public Sub AcceptPositions_Click()
    Press "accept_positions()"
End Sub

' Transaction cost analysis
Public Sub Tca_Click()
    Press "tca()"
End Sub

' Monthly cost report
Public Sub MonthlyReport_Click()
    Press "monthly_report()"
End Sub
