"""The system of record: the journal, the day lock and the day's files."""
