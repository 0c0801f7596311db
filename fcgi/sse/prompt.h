/* The builder's system prompt, generated for each turn (B-4).
 *
 * The prompt is a short header naming the workspace and the app, followed by fixed sections
 * that describe this product as it is: the app template workerd copies into every workspace
 * (workerd/template), the tools the MCP broker registers for the builder, agents.json as
 * present_agents validates it, and the data and security rules. tests/unit/test-prompt-drift.c
 * checks every tool name and path the prompt mentions against the registry and the template,
 * so the text cannot drift from the code. */
#ifndef SECOND_SSE_PROMPT_H
#define SECOND_SSE_PROMPT_H

/* The system prompt for a builder turn in the workspace and on the app named (display names,
 * not ids; NULL or blank gets a neutral stand-in). Names are cut to NAME_MAX_CHARS characters
 * and their control characters, quotes and backticks replaced. Returns a new string the caller
 * frees; aborts when out of memory. */
char *prompt_builder_new(const char *workspace_name, const char *app_name)
	__attribute__((warn_unused_result));

#endif
