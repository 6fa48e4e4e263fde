"""Sensor types: config options + channel metadata + setup()/read() over a driver."""
