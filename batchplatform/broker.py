"""The embedded broker: kombu's filesystem transport, made safe for several processes.

kombu's own transport creates a message file and then writes it, and a consumer may read it in
between: an empty file, a JSONDecodeError, and the worker dies (measured in bench/RESULTS.md).
Here a message is written under a temporary name and renamed into place, so a reader sees it
whole or not at all; a consumer claims a file by renaming it into its own folder (atomic on one
filesystem) instead of moving it to the system temp directory.
"""

import logging
import os
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)
SCHEME = "safefs"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f"partial-{uuid.uuid4()}")  # never matches a queue
        with open(partial, "wb") as file:
            file.write(str_to_bytes(dumps(payload)))
        os.replace(partial, final)

    def _get(self, queue):
        wanted = f"{queue}.msg"
        claimed_folder = self.processed_folder
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(claimed_folder, f"{os.getpid()}-{name}")
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it
            try:
                with open(claimed, "rb") as file:
                    payload = file.read()
            finally:
                os.remove(claimed)
            try:
                return loads(bytes_to_str(payload))
            except ValueError:
                logger.error("dropped an unreadable broker message %s (%d bytes)", name, len(payload))
                continue
        raise filesystem.Empty()


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES[SCHEME] = "batchplatform.broker:Transport"
