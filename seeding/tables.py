"""Reads the stack's tables: that they exist with the expected keys, and what is in them."""

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from seeding.errors import SeedingError
from seeding.rows import Taken

_deserializer = TypeDeserializer()


def _plain(item: dict) -> dict:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def check_keys(client, table: str, key_names: tuple[str, ...], region: str) -> None:
    """Fail with one sentence unless `table` exists with exactly this primary key."""
    try:
        description = client.describe_table(TableName=table).get("Table") or {}
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise SeedingError(
                f"Table {table} does not exist in {region}; deploy the stack with `pulumi up` "
                "or check that the outputs belong to this account."
            )
        raise
    if "KeySchema" not in description:
        raise SeedingError(
            f"The endpoint did not describe table {table} the way DynamoDB does; "
            "check --endpoint-url or AWS_ENDPOINT_URL."
        )
    actual = tuple(key["AttributeName"] for key in description["KeySchema"])
    if actual != key_names:
        raise SeedingError(
            f"Table {table} is keyed by {', '.join(actual)}, not {', '.join(key_names)}; "
            "its stack was deployed from a different version of this program."
        )


def _scan(
    client,
    table: str,
    attributes: tuple[str, ...],
    id_prefix: str | None = None,
    page_size: int = 1000,
):
    """Every row, with only `attributes`; only the seeded rows when `id_prefix` is given."""
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    params = {
        "TableName": table,
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
        "PaginationConfig": {"PageSize": page_size},
    }
    if id_prefix is not None:
        names["#id"] = "id"
        params["FilterExpression"] = "begins_with(#id, :prefix)"
        params["ExpressionAttributeValues"] = {":prefix": {"S": id_prefix}}
    for page in client.get_paginator("scan").paginate(**params):
        for item in page["Items"]:
            yield _plain(item)


def taken_values(client, table: str) -> Taken:
    """The ids, channels, usernames and emails every channel row already uses."""
    taken = Taken()
    for row in _scan(client, table, ("id", "channelArn", "username", "email")):
        taken.add(row)
    return taken


def seeded_keys(
    client, table: str, key_names: tuple[str, ...], prefix: str, page_size: int = 1000
) -> list[dict]:
    """The keys of the rows whose id carries the seeded prefix, from every page of the table."""
    return list(_scan(client, table, key_names, id_prefix=prefix, page_size=page_size))
