"""docker-machine's driver-plugin protocol: Go's gob encoding (gob.py) and the plugin process with net/rpc over
HTTP (rpc.py). The driver that uses them is core/drivers/plugin.py."""
