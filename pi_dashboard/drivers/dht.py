"""Aosong DHT22 (AM2302) and DHT11 humidity/temperature sensors, through Linux's dht11 IIO driver.

The single-wire protocol needs microsecond timing, which the kernel driver
(drivers/iio/humidity/dht11.c, enabled by `dtoverlay=dht11,gpiopin=N` on a Pi) gets from GPIO
edge interrupts. It decodes both models (DHT22: tenths with a sign bit; DHT11: whole units),
checks the checksum, and reports millidegrees and milli-percent. Its reads fail often by design:
a bad checksum or lost edges return EIO, no answer ETIMEDOUT. A good reading is cached for 2 s,
and the DHT22 datasheet asks for at least 2 s between measurements, so a retry waits 2 s.
Plausible ranges: the datasheets' specification tables (DHT22 -40..80 °C, 0..100 %RH; DHT11
0..50 °C). The DHT11 datasheet's 20..90 %RH is its accuracy range, not a limit on what it
reports (the kernel dropped that check for that reason), so 0..100 %RH is accepted.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pi_dashboard.errors import SensorError
from pi_dashboard.hw.iio import IIODevice

log = logging.getLogger(__name__)

TEMPERATURE_ATTR = "in_temp_input"
HUMIDITY_ATTR = "in_humidityrelative_input"
DRIVER_NAME = "dht11"
"""The kernel driver's name for both models; the device is named `dht11@<unit address>`."""

RETRY_ERRNOS = frozenset({errno.EIO, errno.ETIMEDOUT, errno.EAGAIN})
"""What the driver returns for a failed measurement (EAGAIN: clock too coarse right now)."""
RETRY_PAUSE_S = 2.0
"""DHT22 "collecting period": at least 2 s between the starts of two measurements."""
MAX_TRIES = 10


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    temperature_c: tuple[float, float]
    humidity_pct: tuple[float, float]


DHT22 = Model("DHT22", (-40.0, 80.0), (0.0, 100.0))
DHT11 = Model("DHT11", (0.0, 50.0), (0.0, 100.0))


def _reason(e: OSError) -> str:
    name = errno.errorcode.get(e.errno or 0, f"errno {e.errno}")
    if e.errno == errno.ETIMEDOUT:
        return f"{name}: no answer, check wiring and the pull-up"
    return name


class DHT:
    """One sensor behind the kernel driver: up to `tries` measurements, `RETRY_PAUSE_S` apart."""

    def __init__(
        self,
        device: IIODevice,
        model: Model,
        *,
        tries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1 <= tries <= MAX_TRIES:
            raise ValueError(f"tries must be 1..{MAX_TRIES}, got {tries}")
        self.device = device
        self.model = model
        self.tries = tries
        self.sleep = sleep

    def read(self) -> tuple[float, float]:
        """(°C, %RH), or SensorError after `tries` failed measurements; never spins."""
        reasons: list[str] = []
        for attempt in range(self.tries):
            if attempt:
                self.sleep(RETRY_PAUSE_S)
            try:
                # both attributes come from one measurement: the second read hits the 2 s cache
                t = self.device.read_int(TEMPERATURE_ATTR) / 1000
                h = self.device.read_int(HUMIDITY_ATTR) / 1000
            except OSError as e:
                if e.errno not in RETRY_ERRNOS:
                    raise
                reason = _reason(e)
            else:
                implausible = self._implausible(t, h)
                if implausible is None:
                    return t, h
                reason = implausible
            log.debug(
                "%s try %d/%d failed: %s", self.device.path.name, attempt + 1, self.tries, reason
            )
            if reason not in reasons:
                reasons.append(reason)
        tries = "try" if self.tries == 1 else "tries"
        raise SensorError(f"no valid reading after {self.tries} {tries} ({'; '.join(reasons)})")

    def _implausible(self, t: float, h: float) -> str | None:
        (tlo, thi), (hlo, hhi) = self.model.temperature_c, self.model.humidity_pct
        if not tlo <= t <= thi:
            return f"implausible {self.model.name} temperature {t:g} °C"
        if not hlo <= h <= hhi:
            return f"implausible {self.model.name} humidity {h:g} %"
        return None
