"""The ugc stack: reads the configuration, composes the components, exports the outputs."""

import pulumi
import pulumi_aws as aws

import settings
from components.data import Data
from components.events import StreamEvents

config = settings.load()

# One provider for every resource, so the project, stack and managed-by tags land everywhere.
provider = aws.Provider(
    "aws",
    region=config.region,
    profile=config.profile,
    default_tags=aws.ProviderDefaultTagsArgs(
        tags={"project": config.project, "stack": config.stack, "managed-by": "pulumi"}
    ),
)
in_account = pulumi.ResourceOptions(providers={"aws": provider})
caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))

data = Data("data", protect=config.protect, opts=in_account)
stream_events = StreamEvents(
    "stream-events",
    channels_table=data.channels_table,
    streams_table=data.streams_table,
    log_retention_days=config.log_retention_days,
    opts=in_account,
)

pulumi.export("region", config.region)
pulumi.export("accountId", caller.account_id)
pulumi.export("channelsTableName", data.channels_table.name)
pulumi.export("streamsTableName", data.streams_table.name)
pulumi.export("streamEventsFunctionName", stream_events.function.name)
pulumi.export("streamEventsDeadLetterQueueUrl", stream_events.dead_letter_queue.url)
