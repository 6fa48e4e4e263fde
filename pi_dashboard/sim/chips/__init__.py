"""Register-level models of I2C chips, one module per chip family."""
