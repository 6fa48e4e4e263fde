"""What every I2C sensor type shares: the `bus`/`address` checks with their one-line errors (the
addresses are the type's own list, the driver's), the per-bus worker, and a default address the
chip can really have."""

from __future__ import annotations

import pytest

from pi_dashboard.errors import ConfigError
from pi_dashboard.sensors.i2c import I2COptions, I2CSensor
from pi_dashboard.sensors.registry import TYPES

I2C_TYPES = sorted(name for name in TYPES if TYPES[name].i2c_addresses)


def table(kind: str, extra: str = "") -> str:
    return f'[[sensors]]\nid = "x"\ntype = "{kind}"\n{extra}'


def test_every_i2c_type_is_found():
    assert {"ads1115", "bh1750", "bme280", "bmp280", "htu21d", "sht3x", "sht4x"} <= set(I2C_TYPES)


@pytest.mark.parametrize("kind", I2C_TYPES)
def test_bad_address_names_the_field_and_valid_list(make_config, kind):
    addresses = TYPES[kind].i2c_addresses
    bad = next(a for a in range(0x08, 0x78) if a not in addresses)
    valid = ", ".join(f"0x{a:02x}" for a in addresses)
    with pytest.raises(ConfigError) as e:
        make_config(table(kind, f"address = {bad:#x}\n"))
    assert e.value.field == "sensors[0].address"
    assert f"sensors[0].address: 0x{bad:02x} is not a valid address for {kind} ({valid})" in str(
        e.value
    )


def test_address_error_as_a_user_sees_it(make_config):
    with pytest.raises(ConfigError) as e:
        make_config(table("sht3x", "address = 0x46\n"))
    assert str(e.value) == (
        "<test>: sensors[0].address: 0x46 is not a valid address for sht3x (0x44, 0x45)"
    )


@pytest.mark.parametrize("kind", I2C_TYPES)
def test_negative_bus_names_the_field(make_config, kind):
    with pytest.raises(ConfigError) as e:
        make_config(table(kind, "bus = -1\n"))
    assert e.value.field == "sensors[0].bus"
    assert "must be >= 0 (the N of /dev/i2c-N), got -1" in str(e.value)


@pytest.mark.parametrize("kind", I2C_TYPES)
def test_default_address_is_the_chips_and_worker_is_the_bus(make_sensor, kind):
    t = TYPES[kind]
    assert issubclass(t.options, I2COptions)
    s = make_sensor(table(kind, "bus = 3\n"))
    assert s.options.address in t.i2c_addresses
    assert isinstance(s, I2CSensor)
    assert s.worker == "i2c-3"
    assert s.driver is None  # built by setup(), not before
