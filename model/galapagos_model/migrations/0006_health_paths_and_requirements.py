from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from galapagos_model.enums import ModelFormat
from json import dumps, loads
from tortoise import fields


class DescribeField(ops.AlterField):
    """Only the field's documented choices change (a new model format): the column stays as it
    is. Applied to the state alone, since SQLite's AlterField rebuilds the table and drops its
    unique constraints."""

    async def database_forward(self, *args, **kwargs):
        return None

    async def database_backward(self, *args, **kwargs):
        return None


class Migration(migrations.Migration):
    dependencies = [("models", "0005_reconcile_error_and_package_digests")]

    initial = False

    operations = [
        DescribeField(
            model_name="Artifact",
            name="model_format",
            field=fields.CharEnumField(
                null=True,
                description="SKLEARN: sklearn\nXGBOOST: xgboost\nLIGHTGBM: lightgbm\nONNX: onnx\nHUGGINGFACE: huggingface\nMLFLOW: mlflow\nPYTHON: python",
                enum_type=ModelFormat,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Artifact",
            name="requirements",
            field=fields.JSONField(
                null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
            ),
        ),
        ops.AddField(
            model_name="Serve",
            name="health_path",
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
