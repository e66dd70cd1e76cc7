"""Sessions (live, replay, scripted) and the one pipeline that carries their batches to sinks."""
