"""What every I2C sensor type shares (`sensors/i2c.py`): the `bus`/`address` check with its one-line
errors, the per-bus worker, and a default address the chip can really have."""

from __future__ import annotations

import pytest

from pi_dashboard.errors import ConfigError
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor
from pi_dashboard.sensors.registry import TYPES

# type -> (an address it cannot have, its valid addresses as the error lists them)
BAD_ADDRESSES = {
    "sht3x": (0x46, "0x44, 0x45"),
    "sht4x": (0x40, "0x44, 0x45, 0x46"),
    "htu21d": (0x41, "0x40"),
    "bh1750": (0x24, "0x23, 0x5c"),
    "ads1115": (0x47, "0x48, 0x49, 0x4a, 0x4b"),
    "bmp280": (0x99, "0x76, 0x77"),
    "bme280": (0x99, "0x76, 0x77"),
}


def table(kind: str, extra: str = "") -> str:
    return f'[[sensors]]\nid = "x"\ntype = "{kind}"\n{extra}'


@pytest.mark.parametrize("kind", sorted(BAD_ADDRESSES))
def test_bad_address_names_the_field_and_valid_list(make_config, kind):
    bad, valid = BAD_ADDRESSES[kind]
    with pytest.raises(ConfigError) as e:
        make_config(table(kind, f"address = {bad:#x}\n"))
    assert e.value.field == "sensors[0].address"
    assert f"sensors[0].address: {bad:#04x} is not a valid address for {kind} ({valid})" in str(
        e.value
    )


@pytest.mark.parametrize("kind", sorted(BAD_ADDRESSES))
def test_negative_bus_names_the_field(make_config, kind):
    with pytest.raises(ConfigError) as e:
        make_config(table(kind, "bus = -1\n"))
    assert e.value.field == "sensors[0].bus"
    assert "must be >= 0 (the N of /dev/i2c-N), got -1" in str(e.value)


@pytest.mark.parametrize("kind", sorted(BAD_ADDRESSES))
def test_default_address_is_the_chips_and_worker_is_the_bus(world, make_sensor, kind):
    t = TYPES[kind]
    assert issubclass(t.options, I2COptions)
    assert t.options().address in t.i2c_addresses
    assert tuple(t.options.addresses) == t.i2c_addresses
    s = make_sensor(table(kind, "bus = 3\n"))
    assert isinstance(s, I2CSensor)
    assert s.worker == "i2c-3"
    assert s.driver is None  # built by setup(), not before: check-config builds sensors too
