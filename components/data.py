"""The platform's DynamoDB tables: channels and stream sessions."""

import pulumi
import pulumi_aws as aws


def _string_attributes(*names: str) -> list[aws.dynamodb.TableAttributeArgs]:
    return [aws.dynamodb.TableAttributeArgs(name=name, type="S") for name in names]


def _key_schema(partition: str, sort: str | None = None) -> list:
    keys = [
        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
            attribute_name=partition, key_type="HASH"
        )
    ]
    if sort:
        keys.append(
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                attribute_name=sort, key_type="RANGE"
            )
        )
    return keys


def _global_index(
    name: str, partition: str, sort: str | None = None, projected: list[str] | None = None
) -> aws.dynamodb.TableGlobalSecondaryIndexArgs:
    return aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name=name,
        key_schemas=_key_schema(partition, sort),
        projection_type="INCLUDE" if projected else "ALL",
        non_key_attributes=projected,
    )


class Data(pulumi.ComponentResource):
    """The channels table (one row per user) and the streams table (one row per stream session).

    Args:
        protect: keep the tables from being deleted, by AWS and by Pulumi, and keep
            point-in-time backups of them.
    """

    def __init__(self, name: str, *, protect: bool, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ugc:data:Data", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=protect)
        common = dict(
            billing_mode="PAY_PER_REQUEST",
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=protect),
            deletion_protection_enabled=protect,
        )

        # Keyed by the Cognito user's sub; the API also finds a channel by email, channel
        # ARN, username and uploaded asset.
        self.channels_table = aws.dynamodb.Table(
            f"{name}-channels",
            hash_key="id",
            attributes=_string_attributes(
                "id", "email", "channelArn", "username", "channelAssetId"
            ),
            global_secondary_indexes=[
                _global_index("emailIndex", "email"),
                _global_index("channelArnIndex", "channelArn"),
                _global_index("usernameIndex", "username"),
                _global_index("channelAssetIdIndex", "channelAssetId", projected=["channelAssets"]),
            ],
            opts=child,
            **common,
        )

        # isOpenIndex is sparse: only a live session carries isOpen ("true"). Its keys
        # (channelArn, isOpen, id) are projected anyway; listing one as a non-key attribute
        # makes table creation fail (AWS CDK refuses it for that reason).
        self.streams_table = aws.dynamodb.Table(
            f"{name}-streams",
            hash_key="channelArn",
            range_key="id",
            attributes=_string_attributes("channelArn", "id", "startTime", "isOpen"),
            local_secondary_indexes=[
                aws.dynamodb.TableLocalSecondaryIndexArgs(
                    name="startTimeIndex", range_key="startTime", projection_type="ALL"
                )
            ],
            global_secondary_indexes=[
                _global_index(
                    "isOpenIndex",
                    "channelArn",
                    "isOpen",
                    projected=["endTime", "truncatedEvents", "startTime"],
                )
            ],
            opts=child,
            **common,
        )

        self.register_outputs(
            {
                "channelsTableName": self.channels_table.name,
                "streamsTableName": self.streams_table.name,
            }
        )
