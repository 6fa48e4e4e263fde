"""Chip drivers: datasheet commands, registers and raw -> SI units over `hw` protocols; sync."""
