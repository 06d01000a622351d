"""leadgenius-etl: resumable, exactly-once import/export for the LeadGenius Pro API.

Mechanisms live here (everything that does I/O): the API client, sources, sinks, the
sandbox server and the CLI. Rules live in :mod:`schemas`, persistence in :mod:`state`,
composition in :mod:`pipelines`.
"""

__version__ = "0.1.0"
