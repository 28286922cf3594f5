"""Every file layout xlexec reads or writes, and the CSV plumbing."""
