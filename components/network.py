"""The VPC the API runs in: public subnets for the load balancer, private ones for the tasks."""

import ipaddress

import pulumi
import pulumi_aws as aws

SUBNET_PREFIX = 20
PRIVATE_OFFSET = 8


class Network(pulumi.ComponentResource):
    """A VPC across `availability_zones` zones with `nat_gateways` NAT gateways.

    awsx's VPC places either one NAT gateway or one per zone; production wants fewer
    gateways than zones, so the subnets and routes are declared here. Private subnets in
    zones without their own gateway route through the gateways in turn.
    """

    def __init__(
        self,
        name: str,
        *,
        availability_zones: int,
        nat_gateways: int,
        cidr_block: str = "10.0.0.0/16",
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ugc:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones(
            state="available", opts=pulumi.InvokeOptions(parent=self)
        ).names
        if availability_zones > len(zones):
            raise pulumi.RunError(
                f"The network asks for {availability_zones} availability zones, but the region "
                f"offers {len(zones)}; lower ugc:availabilityZones to {len(zones)} or fewer."
            )
        blocks = list(ipaddress.ip_network(cidr_block).subnets(new_prefix=SUBNET_PREFIX))

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cidr_block,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            opts=child,
        )
        self.internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, opts=child
        )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-routes",
            vpc_id=self.vpc.id,
            routes=[
                aws.ec2.RouteTableRouteArgs(
                    cidr_block="0.0.0.0/0", gateway_id=self.internet_gateway.id
                )
            ],
            opts=child,
        )

        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        for index in range(availability_zones):
            number = index + 1
            zone = zones[index]
            public = aws.ec2.Subnet(
                f"{name}-public-{number}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[index]),
                availability_zone=zone,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{number}-link",
                subnet_id=public.id,
                route_table_id=public_routes.id,
                opts=child,
            )
            self.public_subnets.append(public)
            self.private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{number}",
                    vpc_id=self.vpc.id,
                    cidr_block=str(blocks[PRIVATE_OFFSET + index]),
                    availability_zone=zone,
                    opts=child,
                )
            )

        self.nat_gateways: list[aws.ec2.NatGateway] = []
        for index in range(nat_gateways):
            number = index + 1
            address = aws.ec2.Eip(f"{name}-nat-{number}-ip", domain="vpc", opts=child)
            self.nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{number}",
                    allocation_id=address.id,
                    subnet_id=self.public_subnets[index].id,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.internet_gateway]),
                )
            )
        for index, private in enumerate(self.private_subnets):
            number = index + 1
            routes = aws.ec2.RouteTable(
                f"{name}-private-{number}-routes",
                vpc_id=self.vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(
                        cidr_block="0.0.0.0/0",
                        nat_gateway_id=self.nat_gateways[index % nat_gateways].id,
                    )
                ],
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{number}-link",
                subnet_id=private.id,
                route_table_id=routes.id,
                opts=child,
            )

        self.register_outputs({"vpcId": self.vpc.id})
