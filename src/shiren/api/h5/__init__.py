"""The browser side of shiren: the JavaScript SDK at ``/sdk/v1/`` and the hosted H5 page at ``/h5/v1/``.

Both are static files shipped inside the package (``static/``), served with a strict CSP, so the page
works offline and loads nothing from third parties.
"""

from shiren.api.h5.routes import router

__all__ = ["router"]
