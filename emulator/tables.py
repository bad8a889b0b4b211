"""Creates DynamoDB tables from the program's own table declarations."""

from typing import Any

from emulator.program import Declared, ProgramRun

TABLE_TYPE = "aws:dynamodb/table:Table"


def _key_schema(partition: str, sort: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        keys.append({"AttributeName": sort, "KeyType": "RANGE"})
    return keys


def _projection(index: dict[str, Any]) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": index["projectionType"]}
    if index.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = list(index["nonKeyAttributes"])
    return projection


def _global_index(index: dict[str, Any]) -> dict[str, Any]:
    if index.get("keySchemas"):
        keys = [
            {"AttributeName": key["attributeName"], "KeyType": key["keyType"]}
            for key in index["keySchemas"]
        ]
    else:
        keys = _key_schema(index["hashKey"], index.get("rangeKey"))
    return {"IndexName": index["name"], "KeySchema": keys, "Projection": _projection(index)}


def create_table_request(table: Declared) -> dict[str, Any]:
    """The CreateTable request that matches one declared `aws.dynamodb.Table`."""
    inputs = table.inputs
    request: dict[str, Any] = {
        "TableName": table.state["name"],
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ],
        "KeySchema": _key_schema(inputs["hashKey"], inputs.get("rangeKey")),
        "BillingMode": inputs["billingMode"],
        "DeletionProtectionEnabled": bool(inputs.get("deletionProtectionEnabled")),
    }
    if inputs.get("globalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            _global_index(i) for i in inputs["globalSecondaryIndexes"]
        ]
    if inputs.get("localSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [
            {
                "IndexName": index["name"],
                "KeySchema": _key_schema(inputs["hashKey"], index["rangeKey"]),
                "Projection": _projection(index),
            }
            for index in inputs["localSecondaryIndexes"]
        ]
    if (inputs.get("serverSideEncryption") or {}).get("enabled"):
        request["SSESpecification"] = {"Enabled": True}
    return request


def create_tables(client, run: ProgramRun) -> list[str]:
    """Create every table the program declares; returns their names."""
    names = []
    for table in run.of_type(TABLE_TYPE):
        request = create_table_request(table)
        client.create_table(**request)
        client.get_waiter("table_exists").wait(TableName=request["TableName"])
        names.append(request["TableName"])
    return names
