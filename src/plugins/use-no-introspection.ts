import {
  type ASTVisitor,
  GraphQLError,
  getNamedType,
  isIntrospectionType,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Refuses the fields that enter introspection (__schema, __type: they return introspection
 * types), once each rather than once per field below them; __typename stays.
 */
function noIntrospectionRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const type = getNamedType(context.getType());
      const parent = context.getParentType();
      if (type && isIntrospectionType(type) && !(parent && isIntrospectionType(parent))) {
        context.reportError(
          new GraphQLError(
            `Introspection is disabled on this server (${node.name.value}): the schema is published as schema.graphql in the project's repository; the operator can enable introspection with INTROSPECTION=true.`,
            { nodes: node },
          ),
        );
      }
    },
  };
}

/**
 * Turns introspection off (INTROSPECTION=false, the default with NODE_ENV=production): the same
 * rule as graphql-js's NoSchemaIntrospectionCustomRule, with a message that says where the
 * schema is. Not @graphql-yoga/plugin-disable-introspection: it decides per HTTP request
 * (onRequestParse), and graphql-ws operations, which have no Request, would pass it.
 */
export function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(noIntrospectionRule);
    },
  };
}
