package org.jblksnap.daemon;

import java.time.Instant;
import java.time.ZoneId;
import java.util.Optional;

import org.jblksnap.error.InvalidArgumentException;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;

/** A schedule in cron's five-field syntax (minute hour day-of-month month day-of-week), in a time zone. */
record JobSchedule(String expression, ExecutionTime times, ZoneId zone) {
    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    /** Parses an expression, or fails with a message that says what is wrong with it. */
    static JobSchedule parse(String what, String expression, ZoneId zone) {
        try {
            return new JobSchedule(expression, ExecutionTime.forCron(PARSER.parse(expression).validate()), zone);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(what + " '" + expression + "' is not a cron schedule (five fields: "
                    + "minute hour day-of-month month day-of-week): " + e.getMessage());
        }
    }

    /** The first time after this one the schedule names, if any. */
    Optional<Instant> next(Instant after) {
        return times.nextExecution(after.atZone(zone)).map(t -> t.toInstant());
    }

    @Override
    public String toString() {
        return expression;
    }
}
