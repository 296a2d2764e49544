"""Who is calling, then which namespace: the api layer's door to the patterns.

Caller authorisation is a property of the gRPC call (its peer certificate or
its bearer token), so it is settled here, at the API boundary: the patterns
receive a resolved :class:`~sidecar.patterns.namespace.Namespace` and never
see a gRPC context.
"""

from __future__ import annotations

from sidecar.api.context import Context
from sidecar.patterns.namespace import Namespace, Namespaces
from sidecar.security import CallerAuth

__all__ = ["NamespaceAccess"]


class NamespaceAccess:
    """The declared namespaces, behind the configured callers' permissions."""

    def __init__(self, namespaces: Namespaces, auth: CallerAuth | None = None) -> None:
        self.declared = namespaces
        #: Set when the config names callers: every call is checked.
        self._auth = auth

    def check_caller(self, name: str, context: Context) -> None:
        """With callers configured: UNAUTHENTICATED / PERMISSION_DENIED unless the
        call's ``context`` proves a caller allowed to use namespace ``name``.

        Run before any work for a call (even reading its trace headers), and
        before the name is looked up, so an unknown caller learns no names."""
        if self._auth is not None:
            self._auth.authorize(context, name)

    def resolve(self, name: str, context: Context) -> Namespace:
        """The namespace called ``name`` if this caller may use it."""
        self.check_caller(name, context)
        return self.declared.resolve(name)
