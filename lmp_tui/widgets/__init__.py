"""Widgets of the TUI: each draws one thing from a store or from the Hub."""

from .details import ProgramDetails
from .event_table import EventTable
from .histogram import HistogramPanel
from .program_view import ProgramView
from .sidebar import ProgramList, ProgramSidebar
from .sparklines import SparklinePanel
from .status import StatusBar, ViewTabs
from .timeline import ReplayTimeline
from .top_keys import TopKeysTable
from .virtual_table import VirtualTable
from .wasm_view import WasmView

__all__ = [
    "EventTable",
    "HistogramPanel",
    "ProgramDetails",
    "ProgramList",
    "ProgramSidebar",
    "ProgramView",
    "ReplayTimeline",
    "SparklinePanel",
    "StatusBar",
    "TopKeysTable",
    "ViewTabs",
    "VirtualTable",
    "WasmView",
]
