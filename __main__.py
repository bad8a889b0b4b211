"""The ugc stack: reads the configuration, composes the components, exports the outputs."""

import pulumi
import pulumi_aws as aws

import settings
from components.cleanup import Cleanup, Job
from components.data import Data
from components.events import StreamEvents
from components.identity import Identity
from components.network import Network
from components.service import ApiService

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
identity = Identity(
    "identity",
    protect=config.protect,
    email_source_arn=config.email_source_arn,
    email_from=config.email_from,
    opts=in_account,
)
stream_events = StreamEvents(
    "stream-events",
    channels_table=data.channels_table,
    streams_table=data.streams_table,
    log_retention_days=config.log_retention_days,
    opts=in_account,
)
Cleanup(
    "cleanup",
    channels_table=data.channels_table,
    user_pool=identity.user_pool,
    region=config.region,
    account_id=caller.account_id,
    project_tag=config.project_tag,
    unconfirmed_users=Job(
        config.unconfirmed_users_schedule, config.unconfirmed_users_max_age_hours
    ),
    idle_stages=Job(config.idle_stages_schedule, config.idle_stages_max_age_minutes),
    log_retention_days=config.log_retention_days,
    opts=in_account,
)
network = Network(
    "network",
    availability_zones=config.service.availability_zones,
    nat_gateways=config.service.nat_gateways,
    opts=in_account,
)
api = ApiService(
    "api",
    network=network,
    settings=config.service,
    channels_table=data.channels_table,
    streams_table=data.streams_table,
    user_pool=identity.user_pool,
    user_pool_client=identity.client,
    project_tag=config.project_tag,
    region=config.region,
    account_id=caller.account_id,
    log_retention_days=config.log_retention_days,
    protect=config.protect,
    opts=in_account,
)

pulumi.export("region", config.region)
pulumi.export("accountId", caller.account_id)
pulumi.export("channelsTableName", data.channels_table.name)
pulumi.export("streamsTableName", data.streams_table.name)
pulumi.export("userPoolId", identity.user_pool.id)
pulumi.export("userPoolClientId", identity.client.id)
pulumi.export("projectTag", config.project_tag)
pulumi.export("apiUrl", api.url)
pulumi.export("clusterName", api.cluster.name)
pulumi.export("serviceName", api.service_name)
pulumi.export("loadBalancerDnsName", api.load_balancer.dns_name)
pulumi.export("streamEventsFunctionName", stream_events.function.name)
pulumi.export("streamEventsDeadLetterQueueUrl", stream_events.dead_letter_queue.url)
