"""Settings of the corpus's Django project: only Django's own contrib apps,
against the database named by FERRY_CORPUS_URL (postgres:// or mysql://).

The project has no apps of its own: the point is the schema Django's
migrations create, the way a real application's database looks.
"""

import os
from urllib.parse import unquote, urlsplit

url = urlsplit(os.environ["FERRY_CORPUS_URL"])
if url.scheme in ("postgres", "postgresql"):
    backend = "django.db.backends.postgresql"
elif url.scheme in ("mysql", "mariadb"):
    # PyMySQL stands in for mysqlclient (no C build on a fresh machine).
    # Django checks the driver's version against mysqlclient's releases, so
    # PyMySQL announces the oldest one Django 5.2 accepts.
    import pymysql

    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    backend = "django.db.backends.mysql"
else:
    raise SystemExit(f"unsupported scheme {url.scheme!r}")

DATABASES = {
    "default": {
        "ENGINE": backend,
        "NAME": url.path.lstrip("/"),
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname,
        "PORT": str(url.port or ""),
        "OPTIONS": {"charset": "utf8mb4"} if backend.endswith("mysql") else {},
    }
}

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "django.contrib.redirects",
]
SECRET_KEY = "corpus-only-not-a-secret"
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The default hasher spends a second per password; the corpus needs rows,
# not strong hashes.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
