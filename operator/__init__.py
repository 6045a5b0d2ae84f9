"""The sreops operator: kopf handlers that reconcile sreops.io resources against AWS."""
