/**
 * The gRPC server interceptor that applies authorize.ts to every call of every service before
 * any handler runs: grpc-js starts a handler only once the call's metadata has passed the
 * interceptors, so a refused call ends here with UNAUTHENTICATED or PERMISSION_DENIED. Refusals
 * are logged (never a token); Admin calls that change something are logged with their caller.
 */
import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from '@grpc/grpc-js';
import { readCertificateIdentity } from '../../shared/cert-identity.js';
import type { Logger } from '../../shared/logger.js';
import { ORIGIN_METADATA } from '../admin/calls.js';
import { type AuthPolicy, authorize } from './authorize.js';
import { callAccess } from './call-access.js';

const AUTHORIZATION = 'authorization';

export function authInterceptor(policy: AuthPolicy, log: Logger): ServerInterceptor {
  return (method, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        // grpc-js exposes a peer certificate only when TLS verified it against the CA.
        const cert = call.getAuthContext().sslPeerCertificate;
        const decision = authorize(
          method.path,
          {
            certificate: cert ? readCertificateIdentity(cert) : undefined,
            authorization: metadata.get(AUTHORIZATION).map(String),
          },
          policy,
        );
        if (!decision.allowed) {
          log.warn(
            {
              method: method.path,
              peer: call.getPeer(),
              code: status[decision.code],
              caller: decision.who,
              reason: decision.message,
            },
            'call refused',
          );
          const trailers = new Metadata();
          trailers.set(ORIGIN_METADATA, 'control-plane');
          call.sendStatus({ code: decision.code, details: decision.message, metadata: trailers });
          return;
        }
        const access = callAccess(method.path);
        const { caller } = decision;
        if (access.service === 'admin' && access.role === 'operator' && caller.kind === 'admin')
          log.info(
            { method: access.method, caller: caller.name, via: caller.via, peer: call.getPeer() },
            'operator call',
          );
        // Handlers never see the token, so none can log it by accident.
        metadata.remove(AUTHORIZATION);
        next(metadata);
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}
