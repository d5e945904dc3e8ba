"""EC2's Query API (version 2016-11-15): the calls an instance role is for, over instance records.

One handler per operation in ``OPERATIONS``; the modules register themselves on import.
"""

from monban.services.ec2 import associations, catalogue, instances, tags  # noqa: F401  (registration)
from monban.services.ec2.common import OPERATIONS

__all__ = ["OPERATIONS"]
