"""``KeysFooter``: Textual's footer with help and quit first.

Textual lists the focused widget's keys first and the app's last, so at 80 columns ``? Help``
and ``q Quit`` fall off the right edge. htop and btop users look for them at the left (htop's
F1 Help ... F10 Quit row is read from the left), so they lead here; the rest keep their order.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST_ACTIONS = ("keys", "quit")
"""Actions shown first, in this order."""


class KeysFooter(Footer):
    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        # One key per action (an action bound twice shows once), the first actions leading.
        by_action: dict[str, tuple[Binding, bool, str]] = {}
        for _node, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action.setdefault(binding.action, (binding, enabled, tooltip))
        lead = [by_action.pop(a) for a in FIRST_ACTIONS if a in by_action]
        self.styles.grid_size_columns = len(lead) + len(by_action)
        for binding, enabled, tooltip in [*lead, *by_action.values()]:
            yield self._key(binding, enabled, tooltip)
        palette = self.app.COMMAND_PALETTE_BINDING
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette in active:
            _node, binding, enabled, tooltip = active[palette]
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def _key(self, binding: Binding, enabled: bool, tooltip: str) -> FooterKey:
        key = FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            disabled=not enabled,
            tooltip=tooltip,
        )
        return key.data_bind(compact=Footer.compact)
