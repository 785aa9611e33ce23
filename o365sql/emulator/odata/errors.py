"""Graph's answers to bad query options, per workload, in one place.

Stage: emulator, OData query engine (errors). Every rejection of the OData engine is built here
and raised as ``errors.GraphError``; the server writes it as Graph's JSON error body.

Exact texts come from graph-semantics §8.3 (with the observed source named next to each one).
Outlook resources answer parse errors the way Graph's request broker does
(``RequestBroker--ParseUri``) and unsupported filter nodes the way Exchange does
(``ErrorInvalidUrlQueryFilter``); directory resources answer with ``BadRequest`` for parse
errors and ``Request_*`` codes for everything else. "(inferred)" marks a code or text that
Graph's docs and the collected observations do not give.
"""

from __future__ import annotations

from ..errors import GraphError
from .rules import ResourceRules

_OP_KIND = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
            "lt": "LessThan", "le": "LessThanOrEqual", "has": "Has", "in": "In"}


def _parse_error(rules: ResourceRules, message: str, *, filter_clause: bool = True) -> GraphError:
    if rules.is_directory:
        # graph-semantics §2.2: {"code":"BadRequest","message":"Invalid filter clause: Syntax
        # error at position 17 in '...'."} (explorer-v4#3227).
        text = f"Invalid filter clause: {message}" if filter_clause else message
        return GraphError(400, "BadRequest", text)
    # §1.1: Outlook answers URI parse failures with RequestBroker--ParseUri (paperweight#1).
    return GraphError(400, "RequestBroker--ParseUri", message)


def filter_syntax(rules: ResourceRules, detail: str) -> GraphError:
    return _parse_error(rules, detail)


def unknown_property(rules: ResourceRules, name: str, type_name: str | None = None) -> GraphError:
    """§1.1 / §8.3: "Could not find a property named 'x' on type 'microsoft.graph.message'."."""
    message = f"Could not find a property named '{name}' on type '{type_name or rules.entity_type}'."
    return _parse_error(rules, message, filter_clause=False)


def select_unknown(rules: ResourceRules, name: str) -> GraphError:
    message = f"Could not find a property named '{name}' on type '{rules.entity_type}'."
    if rules.is_directory:
        # §1.1 (docs-contrib#4529).
        return GraphError(400, "BadRequest",
                          f"Parsing OData Select and Expand failed: {message}")
    return GraphError(400, "RequestBroker--ParseUri", message)


def incompatible_types(rules: ResourceRules, left: str, right: str, op: str) -> GraphError:
    # ODL's wording; quoting a boolean on a directory object gives "Invalid filter clause"
    # (graph-semantics §2.2, docs#3044).
    return _parse_error(rules, "A binary operator with incompatible types was detected. Found "
                        f"operand types '{left}' and '{right}' for operator kind "
                        f"'{_OP_KIND.get(op, op)}'.")


def bad_function_args(rules: ResourceRules, name: str) -> GraphError:
    return _parse_error(rules, f"No function signature for the function with name '{name}' "
                        "matches the specified arguments.")


def unknown_function(rules: ResourceRules, name: str) -> GraphError:
    return _parse_error(rules, f"An unknown function with name '{name}' was found. This may "
                        "also be a function import or a key lookup on a navigation property, "
                        "which is not allowed.")


def not_boolean(rules: ResourceRules) -> GraphError:
    return _parse_error(rules, "The $filter expression must evaluate to a single boolean value.")


def invalid_enum(rules: ResourceRules, value: str) -> GraphError:
    return _parse_error(rules, f"The string '{value}' is not a valid enumeration type constant.")


def invalid_node(rules: ResourceRules) -> GraphError:
    """A filter construct the workload does not run (endswith on messages, toRecipients/any,
    startswith inside contacts' emailAddresses/any, all(), ...)."""
    if rules.is_directory:
        return unsupported_query()
    # §8.3 (explorer-v4#3957, dotnet#2572, docs#2933); sent without innerError (§8.2).
    return GraphError(400, "ErrorInvalidUrlQueryFilter",
                      "The query filter contains one or more invalid nodes.", inner=False)


def unsupported_query() -> GraphError:
    """§3.11: an advanced-only construct without ConsistencyLevel/$count (doc)."""
    return GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.")


def unsupported_property_clause(rules: ResourceRules, prop: str) -> GraphError:
    # §3.9 (docs#5648).
    return GraphError(400, "Request_UnsupportedQuery",
                      "Unsupported or invalid query filter clause specified for property "
                      f"'{prop}' of resource '{rules.resource_label}'.")


def not_indexed() -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery",
                      "The request uses a filter property that is not indexed")


def contains_unsupported() -> GraphError:
    # §2.4 (docs#14451).
    return GraphError(400, "Request_UnsupportedQuery",
                      "Unsupported property filter clause operator 'Contains'.")


def too_many_or_clauses(count: int, limit: int) -> GraphError:
    # The 15-expression limit is documented (known issue 13635); the text was observed
    # (quoted in srozemuller/IntuneAssistant#51).
    return GraphError(400, "Request_UnsupportedQuery",
                      "Too many child clauses specified in search filter expression containing "
                      f"'OR' operators: {count}. Max allowed: {limit}.")


def excessive_height(height: int, limit: int) -> GraphError:
    # §8.3 (docs-contrib#7580: "((any(...) or (a and b)) and startswith(...))" has height 4,
    # and/or chains counting one level each); code inferred.
    return GraphError(400, "Request_UnsupportedQuery",
                      f"search filter expression has excessive height: {height}. "
                      f"Max allowed: {limit}")


def inefficient_filter() -> GraphError:
    # §3.1 (user-list-messages.md).
    return GraphError(400, "InefficientFilter",
                      "The restriction or sort order is too complex for this operation.")


def search_with_filter() -> GraphError:
    return GraphError(400, "SearchWithFilter",
                      "The query parameter '$filter' is not supported with '$search'.")


def search_with_orderby() -> GraphError:
    return GraphError(400, "SearchWithOrderBy",
                      "The query parameter '$orderBy' is not supported with '$search'.")


def search_needs_consistency() -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery",
                      "Request with $search query parameter only works through MSGraph with a "
                      "special request header: 'ConsistencyLevel: eventual'")


def search_not_supported() -> GraphError:
    # CSDL SearchRestrictions Searchable=false (§12); Graph's answer is not documented (inferred).
    return GraphError(400, "ErrorInvalidUrlQuery",
                      "The query parameter '$search' is not supported on this resource.")


def orderby_not_supported(rules: ResourceRules) -> GraphError:
    if rules.is_directory:
        # §3.11 (docs-contrib#4187).
        return GraphError(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
    # §1.1 (python-o365#260: an unknown property); code inferred.
    return GraphError(400, "BadRequest", "OrderBy not supported.")


def skip_not_supported() -> GraphError:
    # §3.9 (msgraph-metadata#135).
    return GraphError(400, "Request_BadRequest", "'$skip' is not supported by the service.")


def count_not_supported() -> GraphError:
    # §3.11 (aad-advanced-queries.md).
    return GraphError(400, "Request_BadRequest", "$count is not currently supported.")


def invalid_integer(rules: ResourceRules, option: str, raw: str) -> GraphError:
    return _parse_error(rules, f"Invalid value '{raw}' for {option} query option found. The "
                        f"{option} query option requires a non-negative integer value.",
                        filter_clause=False)


def invalid_count(rules: ResourceRules, raw: str) -> GraphError:
    return _parse_error(rules, f"'{raw}' is not a valid count option.", filter_clause=False)


def page_size_out_of_range(raw: str, limit: int) -> GraphError:
    # Observed on directory collections (quoted in turbot/steampipe-plugin-microsoft365).
    return GraphError(400, "Request_UnsupportedQuery",
                      f"Invalid page size specified: '{raw}'. Must be between 1 and {limit} "
                      "inclusive.")


def duplicate_option(rules: ResourceRules, name: str) -> GraphError:
    return _parse_error(rules, f"Query option '{name}' was specified more than once, but it must "
                        "be specified at most once.", filter_clause=False)


def bad_skiptoken() -> GraphError:
    # Inferred wording (the directory's answer to an expired paging token).
    return GraphError(400, "Request_BadRequest", "The specified page token value has expired "
                      "and can no longer be included in your request.")


def select_not_implemented() -> GraphError:
    # §3.9: /users?$select=aboutMe → 501 Not Implemented (doc); body text inferred.
    return GraphError(501, "NotImplemented", "This operation target is not yet supported.")
