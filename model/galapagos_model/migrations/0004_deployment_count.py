from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0003_deployments")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Serve",
            name="deployment_count",
            field=fields.IntField(default=0),
        ),
        # Existing serves start from the deployments they already have.
        ops.RunSQL(
            "UPDATE serves SET deployment_count = "
            "(SELECT COUNT(*) FROM deployments WHERE deployments.serve_id = serves.id)",
            reverse_sql=ops.RunSQL.noop,
        ),
    ]
