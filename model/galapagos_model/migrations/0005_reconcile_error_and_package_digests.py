import hashlib
import json

from tortoise import fields
from tortoise import migrations
from tortoise.migrations import operations as ops


def _renamed(spec):
    """A stored workload spec naming its package by digest instead of by public URL."""
    url = spec.pop("package_url", None)
    spec["package_sha256"] = url.rsplit("/", 1)[-1].removesuffix(".zip") if url else None
    return spec


def _digest(spec):
    # WorkloadSpec.digest() as of this migration: every field but the deployment id.
    content = {key: value for key, value in spec.items() if key != "deployment_id"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


async def name_packages_by_digest(apps, schema_editor):
    """Package links are signed now: specs keep the digest and the backend renders the link.
    Stored hashes are recomputed so that the renamed field alone does not look like a change;
    the reconciler still re-applies each workload once, since its live links are unsigned."""
    client = schema_editor.client
    mark = "?" if client.capabilities.dialect == "sqlite" else "%s"
    for table, with_hash in (("workloads", True), ("deployments", False)):
        columns = "id, spec" + (", spec_hash" if with_hash else "")
        for row in await client.execute_query_dict(f"SELECT {columns} FROM {table}"):
            spec = row["spec"] if isinstance(row["spec"], dict) else json.loads(row["spec"] or "{}")
            if "package_url" not in spec:
                continue
            spec = _renamed(spec)
            values = [json.dumps(spec)] + ([_digest(spec)] if with_hash else []) + [row["id"]]
            assignments = f"spec = {mark}" + (f", spec_hash = {mark}" if with_hash else "")
            await client.execute_query(
                f"UPDATE {table} SET {assignments} WHERE id = {mark}", values
            )


class Migration(migrations.Migration):
    dependencies = [("models", "0004_deployment_count")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Environment",
            name="reconcile_error",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.RunPython(name_packages_by_digest, ops.RunPython.noop),
    ]
