import { Field, Float, ObjectType, Query, Resolver } from 'type-graphql';
import { Public } from '../auth/access';
import { Free } from '../cost/hints';
import { VERSION } from './version';

@ObjectType({ description: 'Liveness of the gateway process. Public: needs no API key.' })
export class Health {
  @Field({ description: '"ok" while the process serves requests' })
  status!: string;

  @Field({ description: 'Tollgraph release' })
  version!: string;

  @Field(() => Float, { description: 'Seconds since this process started' })
  uptimeSeconds!: number;
}

@Resolver()
export class HealthResolver {
  @Public()
  @Free()
  @Query(() => Health, { description: 'Is the gateway up? Public and free of charge.' })
  health(): Health {
    return { status: 'ok', version: VERSION, uptimeSeconds: Math.round(process.uptime() * 1000) / 1000 };
  }
}
