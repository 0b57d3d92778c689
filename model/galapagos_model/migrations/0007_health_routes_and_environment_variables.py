from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0006_health_paths_and_requirements")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Artifact",
            name="health_path",
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name="Environment",
            name="variables",
            field=fields.JSONField(
                null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
            ),
        ),
    ]
