"""The `recaudo` command: the composition root that runs services, the embedded platform, and tools."""
