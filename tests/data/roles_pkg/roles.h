#ifndef __ROLES_H
#define __ROLES_H

#define TASK_COMM_LEN 16

/* Member doc comments say what fields mean; lmp build turns their tags into keys of the
 * export_types members ("role", "unit", "flags", "format"). Both forms: a /// comment on the
 * lines above a member, or a ///< comment after it on its line. */
struct event {
	int pid;			/* no tag: inferred (an id) */
	/// Resident anonymous memory.
	/// @role gauge @unit pages
	long long resident;
	unsigned long long sk;		///< the socket @role id @unit hex
	int mode;			///< @flags open
	unsigned long long wait;	///< @unit us
	unsigned int peer;		///< @format ipv4
	char comm[TASK_COMM_LEN];
};

#endif /* __ROLES_H */
