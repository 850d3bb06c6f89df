"""``flask_login.__about__``: what stands in for flask-login.

``__version__`` is the flask-login release whose API these modules provide,
so that code comparing it to decide what flask-login can do decides right.
"""

from __future__ import annotations

__title__ = "flask-sessionauth (as Flask-Login)"
__description__ = "flask-sessionauth, installed under the name flask_login"
__url__ = "https://flask-sessionauth.readthedocs.io/"
__version_info__ = ("0", "6", "3")
__version__ = ".".join(__version_info__)
__author__ = "flask-sessionauth contributors"
__author_email__ = ""
__maintainer__ = "flask-sessionauth contributors"
__license__ = "BSD-3-Clause"
__copyright__ = "flask-sessionauth contributors"
