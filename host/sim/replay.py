"""Replay of OKX's historical market-data files: trades CSV and 1-minute candles CSV.

OKX publishes daily trade files (``instrument_name,trade_id,side,price,size,created_time``; older
files have bilingual headers such as ``trade_id/交易id`` and put size before price) and candle files
(``instrument_name,open,high,low,close,vol,vol_ccy,vol_quote,open_time,confirm``). Columns are read
by header name, so both layouts work. The first row is placed at the simulator's start time and
the rest keep their spacing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from host.clock import from_okx_ms
from host.money import parse_decimal
from host.sim.instruments import SimInstrument
from host.sim.source import RawTrade

_CANDLE_PATH = (("open", 0), ("high", 15), ("low", 30), ("close", 45))
"""A candle becomes four trades inside its minute: open, high, low, close (seconds offset)."""


class ReplayError(ValueError):
    """A market-data file the simulator cannot read, with the line that failed."""


class FileReplay:
    """Trades from one file, shifted so the first one happens at ``start``."""

    def __init__(self, path: Path, start: datetime, default_inst_id: str = "BTC-USDT-SWAP") -> None:
        rows = _read_rows(path)
        if not rows:
            raise ReplayError(f"{path}: empty file")
        header = [cell.split("/")[0].strip().lower() for cell in rows[0]]
        _check_columns(path, header)
        raw = list(_parse(path, header, rows[1:], default_inst_id))
        if not raw:
            raise ReplayError(f"{path}: a header but no trades or candles")
        raw.sort(key=lambda trade: trade.ts)
        self.span = raw[-1].ts - raw[0].ts
        """From the first trade to the last: how long the tape lasts."""
        shift = start - raw[0].ts
        self._trades: Iterator[RawTrade] = iter(
            [RawTrade(t.inst_id, t.side, t.px, t.sz, t.ts + shift) for t in raw]
        )
        self._pending: RawTrade | None = next(self._trades, None)
        self.first_prices: dict[str, Decimal] = {}
        for trade in raw:
            self.first_prices.setdefault(trade.inst_id, trade.px)
        self._sizes = [trade.sz for trade in raw]
        self._prices = [trade.px for trade in raw]

    def instruments(self, known: tuple[SimInstrument, ...]) -> tuple[SimInstrument, ...]:
        """The instruments of the file, starting at their first replayed price.

        A swap the simulator knows keeps its grid; an unknown one gets the finest tick and lot
        seen in the file and a contract value of 1.
        """
        by_id = {inst.inst_id: inst for inst in known}
        out = []
        for code, (inst_id, first) in enumerate(sorted(self.first_prices.items()), start=90000):
            base = by_id.get(inst_id)
            if base is None:
                base = SimInstrument(
                    inst_id,
                    _finest(self._prices),
                    _finest(self._sizes),
                    _finest(self._sizes),
                    Decimal(1),
                    first,
                    code,
                )
            out.append(replace(base, start_px=first))
        return tuple(out)

    def trades_until(self, until: datetime) -> list[RawTrade]:
        """Every replayed trade at or before ``until`` not returned yet."""
        out: list[RawTrade] = []
        while self._pending is not None and self._pending.ts <= until:
            out.append(self._pending)
            self._pending = next(self._trades, None)
        return out


TRADE_COLUMNS = ("side", "price", "size", "created_time")
CANDLE_COLUMNS = ("open", "high", "low", "close", "open_time")


def _read_rows(path: Path) -> list[list[str]]:
    """The file's CSV rows; a directory, a device, binary or unreadable data is a ReplayError."""
    try:
        if not path.exists():
            raise ReplayError(f"{path}: no such file")
        if not path.is_file():
            raise ReplayError(f"{path}: not a regular file (a directory or a device?)")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.reader(handle))
    except UnicodeDecodeError:
        raise ReplayError(f"{path}: not UTF-8 text (an OKX CSV file is)") from None
    except csv.Error as error:
        raise ReplayError(f"{path}: not a CSV file ({error})") from None
    except OSError as error:
        raise ReplayError(f"{path}: cannot read: {error.strerror}") from None


def _check_columns(path: Path, header: list[str]) -> None:
    """Refuse a header that is neither OKX's trades nor its candles layout, naming both."""
    if all(c in header for c in TRADE_COLUMNS) or all(c in header for c in CANDLE_COLUMNS):
        return
    raise ReplayError(
        f"{path}: not an OKX trades or candles file; its header needs the columns "
        f"{', '.join(TRADE_COLUMNS)} (trades) or {', '.join(CANDLE_COLUMNS)} (candles)"
    )


def _parse(
    path: Path, header: list[str], rows: Iterable[list[str]], default_inst_id: str
) -> Iterator[RawTrade]:
    for number, row in enumerate(rows, start=2):
        if not row:
            continue
        cells = dict(zip(header, row, strict=False))
        try:
            inst_id = cells.get("instrument_name") or default_inst_id
            if "open_time" in cells:
                yield from _candle_trades(inst_id, cells)
            else:
                yield RawTrade(
                    inst_id,
                    cells["side"].strip().lower(),
                    parse_decimal(cells["price"]),
                    parse_decimal(cells["size"]),
                    _ms(cells["created_time"]),
                )
        except (KeyError, ValueError) as error:
            raise ReplayError(f"{path}:{number}: cannot read row {row!r}: {error}") from None


def _candle_trades(inst_id: str, cells: dict[str, str]) -> Iterator[RawTrade]:
    opened = _ms(cells["open_time"])
    volume = parse_decimal(cells.get("vol") or "4")
    size = max(volume / 4, Decimal("0.01")).quantize(Decimal("0.01"))
    previous = parse_decimal(cells["open"])
    for column, seconds in _CANDLE_PATH:
        px = parse_decimal(cells[column])
        side = "buy" if px >= previous else "sell"
        previous = px
        yield RawTrade(inst_id, side, px, size, opened + timedelta(seconds=seconds))


def _finest(values: list[Decimal]) -> Decimal:
    """The smallest decimal step used by ``values`` (e.g. ``0.1`` for prices like ``43000.5``)."""
    exponent = min((int(v.normalize().as_tuple().exponent) for v in values), default=0)
    return Decimal(1).scaleb(min(exponent, 0))


def _ms(text: str) -> datetime:
    return from_okx_ms(text.strip())
