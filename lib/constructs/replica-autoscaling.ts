import { Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { ReplicaAutoScalingSettings } from '../config/environments';

export interface ReplicaAutoScalingProps {
  readonly cluster: rds.DatabaseCluster;
  readonly settings: ReplicaAutoScalingSettings;
}

/**
 * Spec requirement 31.3, horizontal scaling: Aurora Auto Scaling adds readers when the readers'
 * average CPU or connection count passes its target. Auto-scaled readers live outside
 * CloudFormation (see README "Infrastructure").
 */
export class ReplicaAutoScaling extends Construct {
  readonly target: appscaling.ScalableTarget;

  constructor(scope: Construct, id: string, props: ReplicaAutoScalingProps) {
    super(scope, id);
    const { cluster, settings } = props;
    const stack = Stack.of(this);

    this.target = new appscaling.ScalableTarget(this, 'ReadReplicaCount', {
      serviceNamespace: appscaling.ServiceNamespace.RDS,
      scalableDimension: 'rds:cluster:ReadReplicaCount',
      resourceId: `cluster:${cluster.clusterIdentifier}`,
      minCapacity: settings.minReaders,
      maxCapacity: settings.maxReaders,
      // Application Auto Scaling acts on RDS through its service-linked role; a plain role would need
      // rds:CreateDBInstance and friends spelled out, and AWS documents the linked role for this.
      role: iam.Role.fromRoleArn(
        this,
        'ServiceLinkedRole',
        stack.formatArn({
          service: 'iam',
          region: '',
          resource: 'role',
          resourceName: 'aws-service-role/rds.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_RDSCluster',
        }),
      ),
    });
    // Registered before the instances exist, the minimum would not be enforced.
    this.target.node.addDependency(cluster);

    this.target.scaleToTrackMetric('ReaderCpu', {
      predefinedMetric: appscaling.PredefinedMetric.RDS_READER_AVERAGE_CPU_UTILIZATION,
      targetValue: settings.targetReaderCpuPercent,
      scaleOutCooldown: settings.scaleOutCooldown,
      scaleInCooldown: settings.scaleInCooldown,
    });
    this.target.scaleToTrackMetric('ReaderConnections', {
      predefinedMetric: appscaling.PredefinedMetric.RDS_READER_AVERAGE_DATABASE_CONNECTIONS,
      targetValue: settings.targetReaderConnections,
      scaleOutCooldown: settings.scaleOutCooldown,
      scaleInCooldown: settings.scaleInCooldown,
    });
  }
}
