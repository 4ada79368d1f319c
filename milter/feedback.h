/* feedback.h - delivery feedback: the MTA's log, read by one thread */
#ifndef SLUICE_FEEDBACK_H
#define SLUICE_FEEDBACK_H

#include "config.h"
#include "sender.h"

/* feedback_start - with feedback_log set, start the reader thread; -1
 * when it cannot start (the state file cannot be opened) */
int	feedback_start(const struct config *);

/* feedback_stop - stop the reader and wait for it; no-op if none */
void	feedback_stop(void);

/* feedback_accepted - qid was accepted from login (sender key `key`):
 * remember it for the reader; a no-op when feedback is off */
void	feedback_accepted(const char *qid, const char *key,
	    const char *login, enum sender_origin);

#endif
