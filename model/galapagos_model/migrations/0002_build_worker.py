from tortoise import migrations
from tortoise.migrations import operations as ops
from galapagos_model.enums import SourceKind
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name="ArtifactBuilderJob",
            name=None,
            fields=["status", "lease_until"],
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="external_logs_url",
            field=fields.CharField(null=True, max_length=1024),
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="finished_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="import_path",
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="lease_owner",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="needs_cleanup",
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="next_attempt_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="source_kind",
            field=fields.CharEnumField(
                default=SourceKind.GIT,
                description="GIT: git\nPATH: path",
                enum_type=SourceKind,
                max_length=8,
            ),
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="started_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="ArtifactBuilderJob",
            name="transient_failures",
            field=fields.IntField(default=0),
        ),
        ops.AddIndex(
            model_name="ArtifactBuilderJob",
            index=Index(fields=["status", "next_attempt_at"]),
        ),
    ]
