"""Built-in Hub: program sources and their built eunomia ``package.json`` files (data only)."""
