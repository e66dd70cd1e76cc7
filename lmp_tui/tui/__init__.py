"""The Textual front end's parts that are not widgets: config, themes, runs, messages, screens."""
