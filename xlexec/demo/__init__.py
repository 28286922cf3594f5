"""The built-in demo: sample days run through every step on the paper broker."""
