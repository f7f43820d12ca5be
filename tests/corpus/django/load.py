"""Runs the migrations of Django's contrib apps against FERRY_CORPUS_URL,
then adds a few rows of the kinds an application writes (users in groups,
sessions, flat pages, redirects, admin log entries), with non-ASCII text,
empty strings next to NULLs, and fixed timestamps so reruns are alike.

Run from this directory: `FERRY_CORPUS_URL=postgres://... python3 load.py`.
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corpus_settings")

import django  # noqa: E402

django.setup()

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry  # noqa: E402
from django.contrib.auth.models import Group, Permission, User  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.contrib.flatpages.models import FlatPage  # noqa: E402
from django.contrib.redirects.models import Redirect  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.contrib.sites.models import Site  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)

utc = datetime.timezone.utc
when = datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=utc)

editors = Group.objects.create(name="Redakteure")
editors.permissions.set(Permission.objects.filter(codename__endswith="_flatpage"))
Group.objects.create(name="読者")

admin = User.objects.create_superuser("admin", "admin@example.com", "pw")
jose = User.objects.create_user(
    "josé", "jose@example.com", "pw", first_name="José", last_name="Müller"
)
jose.groups.add(editors)
# An empty e-mail next to a user whose last login is NULL: Django writes ''
# for blank strings, never NULL.
User.objects.create_user("zoë", "", "pw", first_name="", last_name="Ødegård")
User.objects.filter(pk=admin.pk).update(last_login=when, date_joined=when)

site = Site.objects.get(pk=1)
site.domain, site.name = "example.org", "Beispiel — ejemplo"
site.save()
second = Site.objects.create(domain="例え.jp", name="例え")

about = FlatPage.objects.create(
    url="/über/", title="Über uns", content="<p>Grüße, 你好, 👋</p>"
)
about.sites.set([site, second])
FlatPage.objects.create(
    url="/empty/", title="", content="", registration_required=True
).sites.set([site])

Redirect.objects.create(site=site, old_path="/alt/", new_path="/über/")
Redirect.objects.create(site=second, old_path="/gone/", new_path="")

for n, text in enumerate(["", "x" * 5000, "ünïcödé"]):
    Session.objects.create(
        session_key=f"corpus{n:026d}",
        session_data=text,
        expire_date=when + datetime.timedelta(days=n),
    )

page_type = ContentType.objects.get_for_model(FlatPage)
LogEntry.objects.create(
    user=admin,
    content_type=page_type,
    object_id=str(about.pk),
    object_repr="Über uns",
    action_flag=ADDITION,
    change_message='[{"added": {}}]',
    action_time=when,
)
LogEntry.objects.create(
    user=jose,
    content_type=None,
    object_id=None,
    object_repr="",
    action_flag=CHANGE,
    change_message="",
    action_time=when,
)
