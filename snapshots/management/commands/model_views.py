"""manage.py model_views [--user NAME]: give snapshots kept before the capture made model views one.

The capture keeps, beside each screenshot, the screenshot as the image model reads it (224x224,
snapshots/capture/extract.py). Analyses read that instead of decoding the whole viewport, which
is what keeps a GPU host's re-analysis fed; older snapshots have none and are decoded in full
every time. This makes theirs once, from the stored screenshot, in batches over the host's cores
(PIL decodes outside the GIL). Running it again continues with what is still missing; a
screenshot that cannot be read is reported and left as it is.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError

from accounts.commands import person_named
from inference.errors import InvalidImage
from snapshots.capture.extract import model_view
from snapshots.models import Snapshot


class Command(BaseCommand):
    help = "Make the model view of every stored screenshot that has none (analyses then decode 224x224 pixels)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", help="only this person's snapshots (username)")
        parser.add_argument("--batch", type=int, default=200, help="snapshots per batch (default 200)")

    def handle(self, *args, user=None, batch=200, **options) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        missing = Snapshot.objects.filter(status=Snapshot.Status.DONE, model_view="").exclude(screenshot="")
        if (person := person_named(user)) is not None:
            missing = missing.filter(link__user=person)
        total, made, unreadable, after = missing.count(), 0, [], 0
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            while chunk := list(missing.filter(pk__gt=after).order_by("pk").only("pk", "screenshot", "sizes")[:batch]):
                for snapshot, view in zip(chunk, pool.map(_view_of, chunk)):
                    if isinstance(view, bytes):
                        _keep(snapshot, view)
                        made += 1
                    else:
                        unreadable.append(f"snapshot {snapshot.pk}: {view}")
                after = chunk[-1].pk
                sys.stderr.write(f"\r  {made + len(unreadable)}/{total} snapshots   ")
        sys.stderr.write("\n")
        for problem in unreadable:
            self.stderr.write(f"Left without a model view, {problem}")
        self.stdout.write(self.style.SUCCESS(f"Made {made} model views; {len(unreadable)} screenshots could not "
                                             "be read."))


def _view_of(snapshot: Snapshot) -> bytes | str:
    """The model view's PNG, or why there is none."""
    try:
        with snapshot.screenshot.open("rb") as handle:
            return model_view(handle.read())
    except (OSError, InvalidImage) as exc:
        return str(exc) or type(exc).__name__


def _keep(snapshot: Snapshot, view: bytes) -> None:
    snapshot.model_view.save("model_view.png", ContentFile(view), save=False)
    # Only these two columns: the rest of the row is not this command's to write.
    Snapshot.objects.filter(pk=snapshot.pk).update(model_view=snapshot.model_view.name,
                                                   sizes={**snapshot.sizes, "model_view": len(view)})
