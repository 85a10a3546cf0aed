from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from plugins.conf import archive_limits
from plugins.packaging import DEFAULT_EXCLUDES, PackagingError, pack_plugin


class Command(BaseCommand):
    help = (
        "Package a plugin directory into a .zip that PUT /v1/plugins/{id}/versions/{vid}/archive accepts. "
        f"Left out: {', '.join(DEFAULT_EXCLUDES)} (and --exclude patterns). Prints the archive's path."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("-o", "--output", type=Path, help="where to write the .zip (default: <directory>.zip)")
        parser.add_argument("-e", "--entry-point", help="checked against the archive's files, e.g. main:run or run.sh")
        parser.add_argument("--exclude", action="append", default=[], help="another name pattern to leave out")

    def handle(self, *args, directory: Path, output: Path | None, entry_point: str | None, exclude, **options):
        directory = directory.resolve()
        output = output or directory.parent / f"{directory.name}.zip"
        try:
            package = pack_plugin(
                directory=directory,
                output=output,
                entry_point=entry_point,
                **archive_limits(),
                excludes=(*DEFAULT_EXCLUDES, *exclude),
            )
        except PackagingError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(str(package.path))
        self.stderr.write(
            f"{len(package.info.members)} files, {package.size} bytes, sha256 {package.info.sha256}. Upload it with:\n"
            f'  curl -H "Authorization: $TOKEN" -X PUT $API/plugins/<PLUGIN_ID>/versions/<VERSION>/archive '
            f"-F file=@{package.path.name} -F entry_point={entry_point or '<module:function>'}"
        )
